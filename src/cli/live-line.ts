/**
 * One status line on a terminal, redrawn in place (carriage return, erase line). Output written
 * through `print` first clears the line, then the line is drawn again below it, so job output and
 * progress never overwrite each other.
 */
export class LiveLine {
  private shown = '';

  constructor(private readonly out: NodeJS.WriteStream) {}

  draw(text: string): void {
    const width = this.out.columns ?? 0;
    const fitted = width > 1 && text.length >= width ? `${text.slice(0, width - 2)}…` : text;
    this.out.write(`\r\x1b[K${fitted}`);
    this.shown = fitted;
  }

  /** Writes whole lines above the live line (to `stream`, which may be another stream on the same terminal). */
  print(stream: NodeJS.WritableStream, text: string): void {
    const last = this.shown;
    this.clear();
    stream.write(text);
    if (last !== '') this.draw(last);
  }

  clear(): void {
    if (this.shown === '') return;
    this.out.write('\r\x1b[K');
    this.shown = '';
  }
}
