/**
 * Splits a string into words the way a POSIX shell does for quoting, without any expansion:
 * whitespace separates words, '...' is literal, "..." honours \\ \" \$ \` escapes, and a
 * backslash outside quotes escapes the next character.
 */
export type ShellWords = { ok: true; words: string[] } | { ok: false; error: string };

export function splitShellWords(input: string): ShellWords {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const c = input.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: `unterminated ' quote at character ${i + 1}` };
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= input.length) return { ok: false, error: `unterminated " quote at character ${i + 1}` };
        const d = input.charAt(j);
        if (d === '"') break;
        const next = input.charAt(j + 1);
        if (d === '\\' && (next === '"' || next === '\\' || next === '$' || next === '`')) {
          word += next;
          j += 2;
        } else {
          word += d;
          j++;
        }
      }
      inWord = true;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= input.length) return { ok: false, error: 'trailing backslash' };
      word += input.charAt(i + 1);
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
