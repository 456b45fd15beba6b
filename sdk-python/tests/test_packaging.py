"""The SDK builds a wheel and an sdist with no network and no build package, and the wheel installs and imports."""

import os
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

import titan_test_support  # noqa: F401  (puts the SDK on sys.path)

from titan_sdk import __version__ as VERSION

SDK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# pip reads no machine configuration (indexes, find-links) and any request it made would hit a
# port nothing listens on: the build must need nothing but this folder.
OFFLINE = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def pip(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, env=OFFLINE, capture_output=True, text=True, timeout=180)


class Packaging(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="titan-wheel-")
        self.addCleanup(self.tmp.cleanup)

    def test_pip_wheel_offline_builds_a_wheel_that_installs_and_imports(self):
        out = os.path.join(self.tmp.name, "wheels")
        built = pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--no-cache-dir", SDK, "-w", out)
        self.assertEqual(built.returncode, 0, built.stderr)
        [wheel] = os.listdir(out)
        self.assertEqual(wheel, f"titan_sdk-{VERSION}-py3-none-any.whl")
        with zipfile.ZipFile(os.path.join(out, wheel)) as archive:
            names = archive.namelist()
            metadata = archive.read(f"titan_sdk-{VERSION}.dist-info/METADATA").decode()
        self.assertIn("titan_sdk/client.py", names)
        self.assertFalse([n for n in names if "tests/" in n or "__pycache__" in n or n.startswith("build_backend")], names)
        self.assertIn(f"Name: titan-sdk\nVersion: {VERSION}\n", metadata)

        site = os.path.join(self.tmp.name, "site")
        installed = pip("install", "--no-deps", "--no-index", "--no-cache-dir", "--target", site, os.path.join(out, wheel))
        self.assertEqual(installed.returncode, 0, installed.stderr)
        # Run from the temp folder with only the install on the path, so the sources here are not what imports.
        probe = subprocess.run(
            [sys.executable, "-c", "import titan_sdk; print(titan_sdk.__file__); print(titan_sdk.__version__); print(titan_sdk.TitanClient.__name__)"],
            cwd=self.tmp.name, env={**OFFLINE, "PYTHONPATH": site}, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(probe.returncode, 0, probe.stderr)
        location, version, client = probe.stdout.split()
        self.assertEqual(os.path.dirname(location), os.path.join(site, "titan_sdk"))
        self.assertEqual((version, client), (VERSION, "TitanClient"))

    def test_the_sdist_holds_what_rebuilding_the_wheel_needs(self):
        sys.path.insert(0, os.path.join(SDK, "build_backend"))
        self.addCleanup(sys.path.remove, os.path.join(SDK, "build_backend"))
        import titan_wheel

        name = titan_wheel.build_sdist(self.tmp.name)
        with tarfile.open(os.path.join(self.tmp.name, name)) as archive:
            members = set(archive.getnames())
        for needed in ("pyproject.toml", "README.md", "PKG-INFO", "build_backend/titan_wheel.py", "titan_sdk/__init__.py"):
            self.assertIn(f"titan_sdk-{VERSION}/{needed}", members)


if __name__ == "__main__":
    unittest.main()
