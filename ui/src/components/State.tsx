import type { ReactNode } from 'react';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

export function ErrorBox({ error, what }: { error: Error; what?: string }) {
  return (
    <div className="state state-error" role="alert">
      <strong>{what ? `Could not load ${what}` : 'Something went wrong'}</strong>
      <span>{error.message}</span>
    </div>
  );
}
