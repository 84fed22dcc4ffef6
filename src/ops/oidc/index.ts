/** The OpenID Provider port and its adapter (openid-client), built by the composition root. */
export { DeviceFlowError, type DeviceAuthorization, type DeviceFlow, type DeviceFlowFailure, type OidcClaims, type OidcPort } from './port.ts';
export { OpenIdClientOidc } from './openid-client.ts';
