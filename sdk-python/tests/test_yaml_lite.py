"""The strict YAML subset reader and the pipeline checks on top of it (no cluster needed)."""

import glob
import os
import unittest

from titan_test_support import ACCEPTANCE

from titan_sdk import TitanError, YamlError
from titan_sdk import yaml_lite
from titan_sdk.pipeline import parse_pipeline


def acceptance_files():
    return sorted(glob.glob(os.path.join(ACCEPTANCE, "*.yaml")))


class AcceptancePipelines(unittest.TestCase):
    def setUp(self):
        if not acceptance_files():
            self.skipTest(f"acceptance pipelines not found at {ACCEPTANCE}")

    def test_every_acceptance_pipeline_parses_and_validates(self):
        for path in acceptance_files():
            with self.subTest(pipeline=os.path.basename(path)):
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                data = yaml_lite.loads(text, source=path)
                self.assertIsInstance(data["name"], str)
                self.assertIsInstance(data["jobs"], list)
                pipeline = parse_pipeline(text, source=path)
                self.assertEqual(pipeline["name"], data["name"])
                self.assertEqual([j["id"] for j in pipeline["jobs"]], [j["id"] for j in data["jobs"]])

    def test_diamond_reads_exactly(self):
        data = yaml_lite.load(os.path.join(ACCEPTANCE, "diamond.yaml"))
        self.assertEqual(data, {
            "name": "diamond", "version": "1.0", "project": True,
            "jobs": [
                {"id": "root", "type": "run", "file": "scripts/write.sh", "args": "root"},
                {"id": "left", "type": "run", "file": "scripts/write.sh", "args": "left", "depends_on": ["root"]},
                {"id": "right", "type": "run", "file": "scripts/write.sh", "args": "right", "depends_on": ["root"]},
                {"id": "sink", "type": "run", "file": "scripts/read_all.sh", "depends_on": ["left", "right"]},
            ],
        })

    def test_flow_mappings_of_fanout_and_retry(self):
        fanout = yaml_lite.load(os.path.join(ACCEPTANCE, "fanout.yaml"))
        self.assertEqual(fanout["jobs"][1], {"id": "worker-1", "type": "run", "file": "scripts/mapper.py", "args": "1", "depends_on": ["trigger"]})
        self.assertEqual(fanout["jobs"][5]["depends_on"], ["worker-1", "worker-2", "worker-3", "worker-4"])
        with open(os.path.join(ACCEPTANCE, "retry.yaml"), encoding="utf-8") as f:
            retry = parse_pipeline(f.read())
        job = retry["jobs"][0]
        self.assertEqual(job["retries"], 3)
        self.assertEqual(job["retry_backoff"], {"type": "fixed", "delaySeconds": 0.2, "maxSeconds": 300})
        self.assertEqual(job["args"], ["3"])


class Subset(unittest.TestCase):
    def test_scalars_follow_the_core_schema(self):
        data = yaml_lite.loads(
            "a: 1\nb: -2.5\nc: true\nd: ~\ne:\nf: '1.0'\ng: \"tab\\there \\u00e9\"\nh: it's plain\n"
            "i: 'it''s'\nj: http://x:80/#frag # a comment\nk: 0x1f\nl: \"# not a comment\"\n"
        )
        self.assertEqual(data, {"a": 1, "b": -2.5, "c": True, "d": None, "e": None, "f": "1.0", "g": "tab\there é",
                                "h": "it's plain", "i": "it's", "j": "http://x:80/#frag", "k": 31, "l": "# not a comment"})

    def test_block_and_flow_collections(self):
        text = (
            "---\n"
            "jobs:\n"
            "- id: a\n"
            "  env: { A: 1, B: [x, 'y, z'] }\n"
            "- { id: b, depends_on: [a,\n"
            "    c] }\n"
            "-\n"
            "  id: c\n"
            "nested:\n"
            "  - - 1\n"
            "    - 2\n"
            "  - []\n"
            "  - {}\n"
            "...\n"
        )
        self.assertEqual(yaml_lite.loads(text), {
            "jobs": [{"id": "a", "env": {"A": 1, "B": ["x", "y, z"]}}, {"id": "b", "depends_on": ["a", "c"]}, {"id": "c"}],
            "nested": [[1, 2], [], {}],
        })

    def test_block_scalars(self):
        text = "run: |\n  echo one\n  echo # two\n\nfolded: >-\n  a\n  b\n\n  c\nkeep: |+\n  x\n\nafter: 1\n"
        self.assertEqual(yaml_lite.loads(text), {"run": "echo one\necho # two\n", "folded": "a b\nc", "keep": "x\n\n", "after": 1})

    def test_empty_document(self):
        self.assertIsNone(yaml_lite.loads("# only a comment\n\n"))

    def assertRefused(self, text, line, words):
        with self.assertRaises(YamlError) as caught:
            yaml_lite.loads(text, source="p.yaml")
        err = caught.exception
        self.assertEqual(err.line, line, str(err))
        self.assertIn(f"p.yaml:{line}:", str(err))
        self.assertIn(words, err.message)
        self.assertIsInstance(err, TitanError)
        self.assertEqual(err.code, "E_INVALID_REQUEST")

    def test_anchors_and_aliases_are_refused_with_their_line(self):
        self.assertRefused("name: x\ndefaults: &base\n  retries: 2\njobs: []\n", 2, "anchors")
        self.assertRefused("name: x\njobs:\n  - id: a\n    env: *base\n", 4, "aliases")
        self.assertRefused("a: 1\n<<: *base\n", 2, "aliases")
        self.assertRefused("a: [1, &x 2]\n", 1, "anchors")

    def test_tabs_are_refused_with_their_line(self):
        self.assertRefused("name: x\njobs:\n\t- id: a\n", 3, "tab")
        self.assertRefused("name: x\nversion:\t1\n", 2, "tab")
        self.assertEqual(yaml_lite.loads('a: "tab\tinside quotes"\n'), {"a": "tab\tinside quotes"})

    def test_other_constructs_are_refused_clearly(self):
        self.assertRefused("a: !!str 1\n", 1, "tags")
        self.assertRefused("a: 1\na: 2\n", 2, "duplicate key")
        self.assertRefused("a: one\n  two\n", 2, "multi-line plain")
        self.assertRefused("a: \"open\n", 1, "unclosed")
        self.assertRefused("a: [1, 2\n", 1, "unclosed [")
        self.assertRefused("? a\n: b\n", 1, "complex keys")
        self.assertRefused("a: 1\n---\nb: 2\n", 2, "second document")
        self.assertRefused("a: b: c\n", 1, "quote the value")
        self.assertRefused("a:\n  b: 1\n c: 2\n", 3, "indentation")
        self.assertRefused("a: - b\n", 1, "list cannot start")
        self.assertRefused("a: |2\n  x\n", 1, "block scalar header")


class PipelineChecks(unittest.TestCase):
    def problems(self, text):
        with self.assertRaises(TitanError) as caught:
            parse_pipeline(text, source="p.yaml")
        return caught.exception.message

    def test_resources_and_driver_are_read_as_the_master_takes_them(self):
        pipeline = parse_pipeline("name: p\njobs:\n  - id: a\n    command: 'true'\n    resources: { cpu: 0.5, memory: 256M }\n    driver: sandbox\n    network: none\n")
        job = pipeline["jobs"][0]
        self.assertEqual(job["resources"], {"cpu": 0.5, "memory": "256M"})
        self.assertEqual((job["driver"], job["network"]), ("sandbox", "none"))
        message = self.problems("name: p\njobs:\n  - id: a\n    command: 'true'\n    resources: { memroy: 1G }\n    driver: sandbx\n")
        self.assertIn('unknown key "memroy"', message)
        self.assertIn("sandbx", message)

    def test_every_problem_is_listed_with_its_line(self):
        message = self.problems(
            "name: demo\n"
            "jobs:\n"
            "  - id: a\n"
            "    command: echo a\n"
            "    retries: many\n"
            "  - id: b\n"
            "    file: b.py\n"
            "    depend_on: [a]\n"
            "  - id: c\n"
            "    command: echo c\n"
            "    depends_on: [d]\n"
        )
        self.assertIn("3 problem(s)", message)
        self.assertIn("p.yaml:5: job \"a\": retries must be a whole number", message)
        self.assertIn('p.yaml:8: unknown key "depend_on" in job "b"; did you mean "depends_on"?', message)
        self.assertIn('p.yaml:11: job "c" depends on "d"', message)

    def test_cycles_and_missing_fields(self):
        message = self.problems("name: loop\njobs:\n  - { id: a, command: x, depends_on: b }\n  - { id: b, command: y, depends_on: a }\n")
        self.assertIn("cycle", message)
        message = self.problems("jobs:\n  - id: a\n")
        self.assertIn('missing key "name"', message)
        self.assertIn("neither file nor command", message)

    def test_values_are_read_like_the_typescript_reader(self):
        pipeline = parse_pipeline(
            "name: p\nversion: 1.0\njobs:\n"
            "  - id: a\n    command: run\n    args: \"x 'y z'\"\n    requirement: \"GPU, HIGH_MEM\"\n"
            "    approval: { message: ok?, timeout: 60 }\n    env: { N: 1, E: }\n    retry_backoff: exponential\n"
        )
        job = pipeline["jobs"][0]
        self.assertEqual(pipeline["version"], "1.0")
        self.assertEqual(job["args"], ["x", "y z"])
        self.assertEqual(job["requirement"], ["GPU", "HIGH_MEM"])
        self.assertEqual(job["approval"], {"message": "ok?", "timeoutSeconds": 60})
        self.assertEqual(job["env"], {"N": "1", "E": ""})
        self.assertEqual(job["retry_backoff"], {"type": "exponential", "delaySeconds": 1, "maxSeconds": 300})


if __name__ == "__main__":
    unittest.main()


ORIGINAL = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "original-titan")


class OriginalSchema(unittest.TestCase):
    """The repo's pipelines in the original Titan schema (test/fixtures/original-titan/)."""

    def parse(self, name):
        with open(os.path.join(ORIGINAL, name), encoding="utf-8") as f:
            return parse_pipeline(f.read(), source=name)

    def test_every_original_key_reads_with_its_meaning(self):
        jobs = {j["id"]: j for j in self.parse("agents.yaml")["jobs"]}
        self.assertEqual((jobs["fetch"]["priority"], jobs["fetch"]["delay"], jobs["fetch"]["args"]), (5, 1, ["fetch", "1"]))
        self.assertEqual(jobs["api"]["type"], "service", "type is read in any case: SERVICE")
        self.assertTrue(jobs["risk-check"]["affinity"])
        self.assertEqual(jobs["risk-check"]["hitl"], {"message": "Risk report ready. Publish it?", "maxWaitSeconds": 600})
        self.assertIsNone(jobs["risk-check"]["approval"], "hitl_message gates the dependants, not the job")
        self.assertIsNone(jobs["publish"]["hitl"])

    def test_max_wait_defaults_to_48_hours_and_zero_is_refused(self):
        text = "name: x\njobs:\n  - id: a\n    file: a.py\n    hitl_message: go?\n"
        self.assertEqual(parse_pipeline(text)["jobs"][0]["hitl"], {"message": "go?", "maxWaitSeconds": 172800})
        with self.assertRaisesRegex(TitanError, r"max_wait_seconds must be between 1 and 2592000, not 0"):
            parse_pipeline(text + "    max_wait_seconds: 0\n")
