"""Helpers shared by the fixture generators (gen_fixtures.py, gen_conv_fixtures.py,
gen_interop_fixtures.py): exact number lists and atomic file writes."""
import os
import tempfile


def flat(t):
    """Flat row-major list of Python floats (exact for float32 and float64)."""
    return t.detach().double().reshape(-1).tolist()


def tensor_json(t):
    return {"shape": list(t.shape), "data": flat(t)}


def write_atomic(path, data):
    """Write bytes or text so readers see the old file or the whole new one (temp, fsync, rename)."""
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
