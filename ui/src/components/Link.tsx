import type { AnchorHTMLAttributes } from 'react';
import { onLinkClick } from '../lib/hooks';

/** Link is an ordinary <a> (new tab, copy link and keyboard all work) that navigates in-app. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { onClick, ...rest } = props;
  return (
    <a
      {...rest}
      onClick={(e) => {
        onClick?.(e);
        onLinkClick(e);
      }}
    />
  );
}
