/**
 * The part of a job's environment that a Python interpreter (or a library preloaded in it) reads
 * once, when it starts or imports: a warm server started with one value cannot serve a job that
 * sets another, because its child already has what the old value produced (sys.path, the locale
 * and stdio encoding, the hash seed, a BLAS thread pool's size, the user site folder…).
 */
// HOME is not here: the only thing it sets at startup, the user's site folder, the forked child redoes
// (fork_server.py `_follow_home`); a root worker gives each job its own HOME.
const EXACT = new Set(['PATH', 'LANG', 'LANGUAGE', 'TZ', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'VIRTUAL_ENV']);
const PREFIXES = ['PYTHON', 'PYENV', 'CONDA', 'LC_', 'OMP_', 'MKL_', 'OPENBLAS_', 'GOTO_', 'BLIS_', 'NUMEXPR_', 'NUMPY_'];

export function startupRelevant(key: string): boolean {
  return EXACT.has(key) || PREFIXES.some((prefix) => key.startsWith(prefix));
}

/** Equal for two environments exactly when they agree on every startup-relevant variable. */
export function startupSignature(env: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.keys(env)
      .filter(startupRelevant)
      .sort()
      .map((key) => [key, env[key]]),
  );
}
