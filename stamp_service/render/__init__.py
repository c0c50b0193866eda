"""Print-file adapters: QR matrices, PDF label sheets, SVG/PNG, CSV manifest and ZPL.

Pure rendering: no Flask, no SQL. Every multi-label renderer takes an iterable of
:class:`~stamp_service.render.labels.LabelData` and yields ``bytes`` chunks, so 100,000 labels
stream with flat memory.
"""
