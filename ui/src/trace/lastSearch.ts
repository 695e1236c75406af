// The last trace search's address, so the trace view's "back to search" returns to it (for
// this page load; a trace opened from a link goes back to a fresh search with its range).
let last: string | null = null;

export function rememberSearch(url: string): void {
  last = url;
}

export function lastSearch(): string | null {
  return last;
}
