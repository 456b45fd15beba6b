"""A project folder as the gzipped tar a worker unpacks into a job's workspace."""

import io
import os
import tarfile

from .errors import E_INVALID_REQUEST, TitanError

#: Left out at any depth: reinstalled or irrelevant where the job runs (the TS client leaves out the first two).
EXCLUDED = frozenset({".git", "node_modules", "__pycache__"})


def bundle_folder(folder):
    """The folder's files (paths relative to it, without .git, node_modules, __pycache__) as tar.gz bytes."""
    root = os.path.abspath(folder)
    if not os.path.isdir(root):
        raise TitanError(E_INVALID_REQUEST, f"project folder {folder} does not exist or is not a folder")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED)
            rel_dir = os.path.relpath(dirpath, root)
            names = dirnames + sorted(f for f in filenames if f not in EXCLUDED)
            for name in names:
                path = os.path.join(dirpath, name)
                arcname = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
                if not (os.path.islink(path) or os.path.isfile(path) or os.path.isdir(path)):
                    continue  # sockets, fifos, devices: a worker refuses them
                info = tar.gettarinfo(path, arcname)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return out.getvalue()
