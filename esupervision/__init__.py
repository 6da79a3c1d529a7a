"""esupervision — 电子实时监督系统 for administrative service centers (行政服务中心).

The importable package maps the top-level layer folders: ``esupervision.models`` is ``models/``,
``esupervision.api`` is ``api/``, and so on (see pyproject.toml).
"""
