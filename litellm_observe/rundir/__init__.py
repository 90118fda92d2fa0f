"""The run directory: where workers leave samples and the exporter finds them.

`protocol.py` owns every path, name, lock and handshake; `samplefile.py` owns the
format of one sample file; `writer.py` writes one (a worker's samples, the exporter's own
counters) and `record.py` names the labels of every write. The worker side (`worker/`) and the exporter side
(`exporter/`) both depend on this package and never on each other.
"""
