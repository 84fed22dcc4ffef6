/** The QR code renderer moved to core (seats and OIDC logins both draw one). */
export { qrText } from '../../core/qr.ts';
