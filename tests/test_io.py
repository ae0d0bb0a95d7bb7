import os
import stat

import pytest

from hangulgan.io import atomic_dir, read_format_json, write_bytes_atomic, write_json_atomic


def test_atomic_file_appears_whole_with_normal_permissions(tmp_path):
    target = tmp_path / "a.bin"
    write_bytes_atomic(target, b"old")
    with pytest.raises(RuntimeError):
        from hangulgan.io import atomic_path

        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_atomic_dir_replaces_only_when_whole(tmp_path):
    target = tmp_path / "d"
    with atomic_dir(target) as tmp:
        (tmp / "x").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target, replace=True) as tmp:
            (tmp / "x").write_text("2")
            raise RuntimeError
    assert (target / "x").read_text() == "1"
    with atomic_dir(target, replace=True) as tmp:
        (tmp / "x").write_text("3")
    assert (target / "x").read_text() == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_read_format_json_errors_name_the_file(tmp_path):
    path = tmp_path / "h.json"
    write_json_atomic(path, {"format": "f", "version": 2})
    assert read_format_json(path, "f", 2, ValueError, "thing")["version"] == 2
    with pytest.raises(ValueError, match="h.json: thing version 2, this hangulgan reads version 3"):
        read_format_json(path, "f", 3, ValueError, "thing")
    with pytest.raises(ValueError, match="not a hangulgan other"):
        read_format_json(path, "g", 2, ValueError, "other")
    path.write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_format_json(path, "f", 2, ValueError, "thing")


def test_folder_lock_names_the_holder_and_frees_when_it_exits(tmp_path):
    import subprocess
    import sys
    import textwrap

    from hangulgan.errors import HangulganError, LockedError
    from hangulgan.io import folder_lock

    folder = tmp_path / "corpus"
    with folder_lock(folder, what="corpus") as held:
        assert held == folder and folder.is_dir()
        with pytest.raises(LockedError, match=rf"corpus: process {os.getpid()} is writing this"):
            with folder_lock(folder, what="corpus"):
                pass
    with folder_lock(folder):  # released on exit from the block
        pass

    # Held by another process: named by its pid; released when that process dies (kill -9).
    code = textwrap.dedent(
        f"""
        import sys, time
        from hangulgan.io import folder_lock
        with folder_lock({str(folder)!r}, what="run folder"):
            print("held", flush=True)
            time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(HangulganError, match=rf"process {holder.pid} is writing this run"):
            with folder_lock(folder, what="run folder"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(folder, what="run folder"):
        pass
