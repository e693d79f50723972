"""``vidseg annotate``: a local web page to click objects, propagate them through a video, correct
and export training masks. The state lives in a project folder (:mod:`vidseg.annotate.project`);
the server (:mod:`vidseg.annotate.server`) needs the ``annotate`` extra (FastAPI, uvicorn)."""

from vidseg.annotate.export import FORMATS, TrainingOptions, export
from vidseg.annotate.project import Project, SourceInfo
from vidseg.annotate.session import AnnotateSession, default_project_dir

__all__ = ["FORMATS", "AnnotateSession", "Project", "SourceInfo", "TrainingOptions", "default_project_dir", "export"]
