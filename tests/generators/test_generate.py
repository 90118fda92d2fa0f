"""generate: README block rendering, writing, and stale detection that names the file."""

from __future__ import annotations

import os

import pytest

from litellm_observe.catalogue import CATALOGUE
from litellm_observe.generators import docs, generate
from litellm_observe.generators.options import Options
from litellm_observe.settings import Settings

README = """# Title
intro
<!-- BEGIN generated:alpha -->
old alpha
<!-- END generated:alpha -->
middle
<!-- BEGIN generated:beta -->
<!-- END generated:beta -->
<!-- BEGIN generated:unknown -->
left alone
<!-- END generated:unknown -->
end
"""


def test_render_readme_replaces_only_known_blocks():
    out = generate.render_readme(README, {"alpha": "new alpha\n", "beta": "| a |\n| b |"})
    assert "old alpha" not in out
    assert "<!-- BEGIN generated:alpha -->\nnew alpha\n<!-- END generated:alpha -->" in out
    assert "<!-- BEGIN generated:beta -->\n| a |\n| b |\n<!-- END generated:beta -->" in out
    assert "left alone" in out
    assert out.startswith("# Title\nintro\n") and out.endswith("end\n")
    assert generate.render_readme(out, {"alpha": "new alpha\n", "beta": "| a |\n| b |"}) == out


def test_render_readme_block_names_must_match():
    text = "<!-- BEGIN generated:a -->\nx\n<!-- END generated:b -->\n"
    assert generate.render_readme(text, {"a": "y", "b": "z"}) == text


def _fake(name, outputs=None, blocks=None) -> generate.Generator:
    return generate.Generator(
        name,
        lambda options, kubernetes=False: dict(outputs(kubernetes)) if outputs else {},
        lambda options: dict(blocks or {}),
    )


@pytest.fixture
def fake_generators(monkeypatch):
    files = {"dashboards/a.json": '{"a": 1}\n', "alerts/r.yaml": "groups: []\n"}

    def outputs(kubernetes):
        out = dict(files)
        if kubernetes:
            out["kubernetes/cm.yaml"] = "kind: ConfigMap\n"
        return out

    monkeypatch.setattr(
        generate, "GENERATORS", (_fake("one", outputs, {"alpha": "ALPHA\n"}), _fake("two", None, {"beta": "BETA\n"}))
    )
    return files


def test_the_generators_are_wired_explicitly_in_order():
    assert [g.name for g in generate.GENERATORS] == [
        "docs",
        "rules",
        "alertmanager",
        "dashboards",
        "mixin",
        "monitors",
        "slo_specs",
        "autoscaling",
    ]
    assert not any("importlib" in line for line in open(generate.__file__, encoding="utf-8"))


def test_outputs_and_blocks(fake_generators):
    s = Options()
    assert generate.outputs(s) == dict(sorted(fake_generators.items()))
    assert "kubernetes/cm.yaml" in generate.outputs(s, kubernetes=True)
    assert generate.readme_blocks(s) == {"alpha": "ALPHA\n", "beta": "BETA\n"}


def test_two_generators_writing_one_path_or_one_block(monkeypatch):
    monkeypatch.setattr(
        generate, "GENERATORS", (_fake("a", lambda k: {"x.json": "1"}), _fake("b", lambda k: {"x.json": "2"}))
    )
    with pytest.raises(RuntimeError, match="x.json"):
        generate.outputs(Options())
    monkeypatch.setattr(generate, "GENERATORS", (_fake("a", None, {"t": "1"}), _fake("b", None, {"t": "2"})))
    with pytest.raises(RuntimeError, match="'t'"):
        generate.readme_blocks(Options())


def test_write_then_not_stale(tmp_path, fake_generators):
    (tmp_path / "README.md").write_text(README)
    s = Options()
    written = generate.write(str(tmp_path), s).written
    assert sorted(written) == sorted(list(fake_generators) + ["README.md", generate.MANIFEST])
    assert generate.stale(str(tmp_path), s) == []
    assert generate.write(str(tmp_path), s) == ([], [], [])  # nothing changes the second time
    assert "ALPHA" in (tmp_path / "README.md").read_text()


@pytest.mark.parametrize(
    "damage, named",
    [
        (lambda d: (d / "dashboards/a.json").write_text("{}\n"), "dashboards/a.json"),
        (lambda d: os.remove(d / "alerts/r.yaml"), "alerts/r.yaml"),
        (lambda d: (d / "README.md").write_text((d / "README.md").read_text().replace("ALPHA", "edited")), "README.md"),
        (lambda d: os.remove(d / generate.MANIFEST), generate.MANIFEST),
    ],
)
def test_stale_names_the_file(tmp_path, fake_generators, damage, named):
    (tmp_path / "README.md").write_text(README)
    s = Options()
    generate.write(str(tmp_path), s)
    damage(tmp_path)
    assert generate.stale(str(tmp_path), s) == [named]
    generate.write(str(tmp_path), s)
    assert generate.stale(str(tmp_path), s) == []


def test_the_users_own_files_are_never_touched_whatever_their_names(tmp_path, fake_generators):
    """The review's case: alerts/node-alerts.yaml, alerts/mine.yml and dashboards/my-team.json beside ours."""
    mine = {
        "alerts/node-alerts.yaml": "groups: [node]\n",
        "alerts/mine.yml": "x: 1\n",
        "dashboards/my-team.json": '{"title": "mine"}',
        "dashboards/notes.txt": "notes",
        "other/x.json": "{}",
    }
    for rel, text in mine.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    result = generate.write(str(tmp_path), Options())
    assert result.removed == [] and result.kept == []
    assert generate.stale(str(tmp_path), Options()) == []
    generate.write(str(tmp_path), Options())
    for rel, text in mine.items():
        assert (tmp_path / rel).read_text() == text, rel


def test_a_file_generate_no_longer_writes_is_removed_only_while_unchanged(tmp_path, fake_generators, monkeypatch):
    generate.write(str(tmp_path), Options())
    assert (tmp_path / "dashboards/a.json").exists()
    del fake_generators["dashboards/a.json"]  # an alert or dashboard renamed in a new version
    assert generate.stale(str(tmp_path), Options()) == [generate.MANIFEST, "dashboards/a.json"]
    assert generate.write(str(tmp_path), Options()).removed == ["dashboards/a.json"]
    assert not (tmp_path / "dashboards/a.json").exists()
    fake_generators["dashboards/b.json"] = "{}\n"
    generate.write(str(tmp_path), Options())
    (tmp_path / "dashboards/b.json").write_text('{"edited": true}\n')
    del fake_generators["dashboards/b.json"]
    result = generate.write(str(tmp_path), Options())
    assert result.removed == [] and result.kept == ["dashboards/b.json"]
    assert (tmp_path / "dashboards/b.json").read_text() == '{"edited": true}\n'


def test_a_symlink_where_a_file_goes_is_refused_and_nothing_is_written(tmp_path, fake_generators):
    victim = tmp_path / "victim.yaml"
    victim.write_text("precious\n")
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts/r.yaml").symlink_to(victim)
    with pytest.raises(generate.GenerateError, match="alerts/r.yaml: it is a symbolic link"):
        generate.write(str(tmp_path), Options())
    assert victim.read_text() == "precious\n" and not (tmp_path / "dashboards").exists()


def test_no_readme_is_not_stale(tmp_path, fake_generators):
    generate.write(str(tmp_path), Options())
    assert "README.md" not in generate.plan(str(tmp_path), Options())


def test_docs_metric_table_lists_every_metric():
    table = docs.metric_table(Options(settings=Settings(namespace="acme")))
    for m in CATALOGUE:
        assert f"`{m.sample_names('acme')[0] if m.kind.value == 'counter' else m.family('acme')}`" in table
    assert table.count("\n") == len(CATALOGUE) + 2


def test_docs_blocks_are_pure():
    assert docs.readme_blocks(Options()) == docs.readme_blocks(Options())
    assert set(docs.readme_blocks(Options())) == {"metrics", "error-types", "settings", "generation-options"}
