"""litellm-observe: exact, multiprocess-correct Prometheus metrics for the LiteLLM proxy.

In the proxy's config.yaml:  litellm_settings: {callbacks: ["litellm_observe.proxy_handler"]}
`proxy_handler` is created on first access, so importing this package (the CLI,
the exporter process) does not import litellm.
"""

__version__ = "0.1.0"

_handler = None


def __getattr__(name: str):
    if name == "proxy_handler":
        global _handler
        if _handler is None:
            from .worker.logger import ObserveLogger

            _handler = ObserveLogger()
        return _handler
    raise AttributeError(f"module 'litellm_observe' has no attribute {name!r}")
