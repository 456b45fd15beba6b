import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pythonPreloadFrom } from './cmd-worker.js';

test('--python-preload takes dotted module names (flag over TITAN_PYTHON_PRELOAD) and refuses anything else, or --no-warm with it', () => {
  assert.deepEqual(pythonPreloadFrom({}, {}), {});
  assert.deepEqual(pythonPreloadFrom({ pythonPreload: 'numpy, pandas,xml.etree.ElementTree' }, { TITAN_PYTHON_PRELOAD: 'json' }), {
    pythonPreload: ['numpy', 'pandas', 'xml.etree.ElementTree'],
  });
  assert.deepEqual(pythonPreloadFrom({}, { TITAN_PYTHON_PRELOAD: 'json' }), { pythonPreload: ['json'] });
  assert.throws(
    () => pythonPreloadFrom({ pythonPreload: 'numpy;rm -rf /' }, {}),
    /--python-preload: "numpy;rm -rf \/" is not a Python module name; give dotted names separated by commas/,
  );
  assert.throws(() => pythonPreloadFrom({ pythonPreload: 'numpy', warm: false }, {}), /--python-preload needs the warm interpreter that --no-warm turns off/);
});
