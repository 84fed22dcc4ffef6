/**
 * What the web view tells a visitor without credentials (issue #23 point 4): reading is closed by
 * default (git.anonAccess: no-access), so say so, say how it opens, and challenge with HTTP Basic so
 * git and browsers ask for a user name and an app token instead of meeting a bare 404.
 */
import { html, type SafeHtml } from '../../core/html.ts';
import type { AccessLevel } from './access.ts';

/** The challenge git and browsers answer by asking for a user name and password (the token). */
export const BASIC_CHALLENGE = 'Basic realm="labd git", charset="UTF-8"';

const howToLogIn = html`Log in with your labd user name and an app token as the password (make one with <code>ssh HOST repo token create NAME</code>).`;

/** Above the repository list, for a visitor without credentials. */
export function anonymousNote(anonAccess: AccessLevel): SafeHtml {
  if (anonAccess === 'no-access')
    return html`<p>Reading without an account is closed on this lab (<code>git.anonAccess: no-access</code>, the default; an admin opens public repositories with <code>git.anonAccess: read-only</code> or <code>LABD_GIT_ANON_ACCESS=read-only</code>). <a href="/git/?login">Log in</a> to see your repositories: ${howToLogIn}</p>`;
  return html`<p class="muted">You see the public repositories. <a href="/git/?login">Log in</a> to see yours: ${howToLogIn}</p>`;
}

/** The body of the 401 page: a private, closed or missing repository (not told apart), or the login link. */
export function loginText(anonAccess: AccessLevel): SafeHtml {
  const closed =
    anonAccess === 'no-access'
      ? html` Reading without an account is closed on this lab (<code>git.anonAccess: no-access</code>; an admin opens public repositories with <code>git.anonAccess: read-only</code>).`
      : '';
  return html`<h2>Log in</h2><p>This page needs an account: the repository is private or does not exist, or you asked to log in.${closed}</p><p>${howToLogIn} git asks for the same when you clone over HTTP.</p><p><a href="/git/">All repositories</a></p>`;
}
