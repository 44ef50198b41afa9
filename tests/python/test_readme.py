"""Every ```python example of the README runs as written, in order, against a ring of its own:
the emit example publishes, the consume example reads those records back, saves its cursor and
unlinks the ring."""
import os
import re
import subprocess
import sys

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")


def examples():
    with open(README) as f:
        return re.findall(r"^```python\n(.*?)^```$", f.read(), re.S | re.M)


def test_readme_python_examples_run_as_written(ring_name, tmp_path):
    blocks = examples()
    assert len(blocks) == 2, "the README's Python section has an emit and a consume example"
    out = []
    for i, code in enumerate(blocks):
        path = tmp_path / f"example{i}.py"
        path.write_text(code)
        p = subprocess.run([sys.executable, str(path), ring_name], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        out.append(p.stdout)
    assert out[0] == "published\n"
    assert "tool_retried" in out[1] and "web_search attempt 2, retry in 250 ms" in out[1]
    assert "plan_created" in out[1] and "'plan_name': 'nightly'" in out[1] and '{"owner":"ops"}' in out[1]
    assert (tmp_path / "readme.cursor").exists()
    assert not os.path.exists(f"/dev/shm{ring_name}"), "the consume example unlinks its ring"
