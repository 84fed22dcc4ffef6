/**
 * The OpenID Provider as labd's identity code sees it: start an OAuth 2.0 Device Authorization Grant
 * (RFC 8628) and wait for the person to confirm it at the IdP. Only the adapter (openid-client.ts)
 * speaks the protocol; everything here is neutral data.
 */

/** What the person is shown: where to go and which code to type there. */
export interface DeviceAuthorization {
  verificationUri: string;
  /** The same page with the code filled in (for the QR code), when the IdP offers one. */
  verificationUriComplete?: string;
  userCode: string;
  /** When the code stops working: the IdP's expires_in, capped by auth.oidc.maxCodeLifetime. */
  expiresAt: Date;
}

/** The ID token's claims labd uses (validated: issuer, audience, expiry). */
export interface OidcClaims {
  issuer: string;
  sub: string;
  email?: string;
  emailVerified?: boolean;
  preferredUsername?: string;
  groups: string[];
}

/** Why a device flow ended without a login. */
export type DeviceFlowFailure = 'denied' | 'expired' | 'aborted' | 'unavailable';

export class DeviceFlowError extends Error {
  constructor(
    readonly reason: DeviceFlowFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface DeviceFlow {
  authorization: DeviceAuthorization;
  /**
   * Polls the token endpoint (honouring the IdP's interval and slow_down) until the person confirms,
   * the code expires or `signal` aborts. Rejects with a DeviceFlowError.
   */
  wait(signal: AbortSignal): Promise<OidcClaims>;
}

export interface OidcPort {
  readonly issuer: string;
  /** Asks the IdP for a device code. Rejects with DeviceFlowError('unavailable') when it cannot. */
  startDeviceFlow(signal: AbortSignal): Promise<DeviceFlow>;
}
