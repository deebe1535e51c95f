// errors.js: the server's error codes in words.
//
// One job: a short title for every error code of signaling/PROTOCOL.md (and
// issue 7's additions), for banners and for the join screen after the server
// ended our session. The words are the catalogue's (error.<code>, i18n.js);
// the codes stay codes. No state, no DOM.

import { t, hasText, language } from './i18n.js';

/** A short title for an error code; a generic one for codes this page does not know. */
export function errorTitle(code) {
  return code && hasText(`error.${code}`) ? t(`error.${code}`) : t('error.other');
}

/**
 * The text under an error's title: the server's own message, which is
 * English. In another language the translated title says it all for a code we
 * know; for a code new to this page the message is better than nothing.
 */
export function errorDetail(code, message) {
  if (language() === 'en' || !code || !hasText(`error.${code}`)) return message || code || '';
  return '';
}
