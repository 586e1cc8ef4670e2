"""A save keeps the permissions of the file it replaces (issue 20, finding 14: a chmod 600 file became 0644)."""

from __future__ import annotations

import os
import stat

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.jsonio import write_atomic

pytestmark = pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_saving_over_a_private_model_and_template_keeps_them_private(tmp_path):
    protocol = build_protocol()
    model, template = protocol.save(path=tmp_path), protocol.template(path=tmp_path)
    for path, mode in ((model, 0o600), (template, 0o640)):
        os.chmod(path, mode)
    protocol.save(path=tmp_path)
    protocol.template(path=tmp_path)
    assert (_mode(model), _mode(template)) == (0o600, 0o640)


def test_a_new_file_gets_the_usual_mode_and_a_link_is_not_followed_for_it(tmp_path):
    mask = os.umask(0)
    os.umask(mask)
    write_atomic(tmp_path / "new.json", "{}")
    assert _mode(tmp_path / "new.json") == 0o666 & ~mask
    target = tmp_path / "secret"
    target.write_text("x")
    os.chmod(target, 0o600)
    os.symlink(target, tmp_path / "link.json")
    write_atomic(tmp_path / "link.json", "{}")  # the link itself is replaced, with the usual mode
    assert _mode(tmp_path / "link.json") == 0o666 & ~mask and target.read_text() == "x"
