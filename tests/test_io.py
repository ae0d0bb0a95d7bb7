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


def test_temporaries_carry_their_maker_and_only_dead_makers_ones_are_stale(tmp_path):
    import subprocess
    import sys

    from hangulgan.io import remove_stale_temporaries, stale_temporaries, temp_path

    target = tmp_path / "face"
    mine = temp_path(target, "old")
    assert mine.parent == tmp_path and mine.name.startswith(f".face.old-{os.getpid()}-")
    assert mine.name.endswith(".hangulgan.tmp") and temp_path(target, "old") != mine
    assert temp_path(tmp_path / "g.png", suffix=".png").name.endswith(".hangulgan.png.tmp")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    made = [
        mine,  # this process's, from an interrupted earlier call
        tmp_path / f".face.new-{dead_pid}-0badc0de.hangulgan.tmp",  # a killed process's
        tmp_path / f".manifest.json.new-{dead_pid}-12345678.hangulgan.png.tmp",
    ]
    kept = [
        tmp_path / f".face.new-{os.getppid()}-0badc0de.hangulgan.tmp",  # a live process's
        tmp_path / ".face.k2j4h.tmp",  # names of the user's that merely look temporary
        tmp_path / ".face.old-4242",
        tmp_path / ".face.merge-4243",
        tmp_path / f".face.new-{dead_pid}-xyz.hangulgan.tmp",
        tmp_path / "face.new-1-12345678.hangulgan.tmp",
    ]
    for path in made[:2] + kept[:3]:
        path.mkdir()
        (path / "x").write_text("x")
    for path in made[2:] + kept[3:]:
        path.write_text("x")
    link = tmp_path / f".link.new-{dead_pid}-12345678.hangulgan.tmp"
    link.symlink_to(kept[1])  # never made by hangulgan: a link is left alone
    assert stale_temporaries(tmp_path) == sorted(made)
    assert remove_stale_temporaries(tmp_path) == sorted(made)
    assert not any(path.exists() for path in made)
    assert all(path.exists() for path in kept) and link.is_symlink()


def test_a_folder_carries_the_mark_of_the_command_that_made_it(tmp_path):
    from hangulgan.io import MARK_FILE, atomic_dir, made_by, mark_made

    with atomic_dir(tmp_path / "made", mark="render") as tmp:
        assert made_by(tmp, "render")  # marked before it appears
    assert made_by(tmp_path / "made", "render") and not made_by(tmp_path / "made", "sample")
    user = tmp_path / "user"
    user.mkdir()
    assert not made_by(user, "render")
    (user / MARK_FILE).write_bytes(b"\xff\xfe")
    assert not made_by(user, "render") and not made_by(tmp_path / "missing", "render")
    mark_made(user, "sample")
    assert made_by(user, "sample")
    (tmp_path / "link").symlink_to(tmp_path / "made")
    assert not made_by(tmp_path / "link", "render")


def test_the_lock_file_goes_with_the_lock_however_the_block_ends(tmp_path):
    from hangulgan.errors import LockedError
    from hangulgan.io import LOCK_FILE, folder_lock

    folder = tmp_path / "corpus"
    with folder_lock(folder):
        assert (folder / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    assert not (folder / LOCK_FILE).exists()
    for stop in (RuntimeError, KeyboardInterrupt):
        with pytest.raises(stop):
            with folder_lock(folder):
                raise stop
        assert not (folder / LOCK_FILE).exists()
    with folder_lock(folder):  # a new file, locked as ever
        with pytest.raises(LockedError):
            with folder_lock(folder):
                pass
        assert (folder / LOCK_FILE).exists()  # the refused second holder leaves it alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]
    assert list(folder.iterdir()) == []


def test_a_lock_taken_on_a_file_its_holder_removed_is_taken_again(tmp_path, monkeypatch):
    import fcntl

    from hangulgan import io
    from hangulgan.io import LOCK_FILE, folder_lock

    folder = tmp_path / "corpus"
    folder.mkdir()
    real_flock = fcntl.flock
    raced = []

    def flock_after_the_holder_left(fd, operation):
        # Between this process's open and its flock, the holder released: it removed the
        # file, and a third process made a new one. The lock taken here must not count.
        if not raced:
            raced.append(fd)
            (folder / LOCK_FILE).unlink()
            (folder / LOCK_FILE).write_text("")
        return real_flock(fd, operation)

    monkeypatch.setattr(io.fcntl, "flock", flock_after_the_holder_left)
    with folder_lock(folder):
        held = os.stat(folder / LOCK_FILE).st_ino
        with pytest.raises(io.LockedError):  # the file the path names now is the one held
            fd = os.open(folder / LOCK_FILE, os.O_RDWR)
            try:
                real_flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise io.LockedError("held") from None
            finally:
                os.close(fd)
        assert os.stat(folder / LOCK_FILE).st_ino == held
    assert len(raced) == 1
