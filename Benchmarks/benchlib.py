"""Helpers every side-by-side benchmark driver shares: running one measured step as a
subprocess (its last stdout line is a JSON object of figures) and reading raw float32 files."""
import array, json, subprocess, sys


def run_output(cmd, env=None):
    """The stdout of `cmd`; a failed step ends the benchmark with its stderr's tail."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"benchmark step failed: {' '.join(cmd[:4])} ...\n{r.stderr[-3000:]}")
    return r.stdout


def run(cmd, env=None):
    """The JSON object `cmd` prints as its last line."""
    return json.loads(run_output(cmd, env).strip().splitlines()[-1])


def floats(path):
    """A little-endian float32 file as an array of floats."""
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return a
