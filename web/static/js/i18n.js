// i18n.js: the client's words in the user's language.
//
// One job: pick the language once at start and turn catalogue keys into text.
// The catalogues (i18n/en.js, i18n/zh-CN.js) hold every user-facing string;
// code and markup name keys, never English (markup: data-i18n="key" for the
// text, data-i18n-attr="placeholder:key aria-label:key" for attributes).
// Server error codes stay codes on the wire; errors.js maps them to keys.
//
// The language comes from, in order: the page's `lang` parameter, the choice
// saved from the pre-join switch, the browser's preferred languages, English.
// Changing it reloads the page (before joining nothing is lost: the
// invitation survives a reload, joinlink.js), so no string needs re-rendering.
//
// Placeholders are {name}; a catalogue value is a plain string (no markup).
// Counts use tn(key, n): keys key.one and key.other (Chinese needs only
// .other, but both catalogues carry the same keys).
// The Go test TestCatalogues checks that both catalogues have the same keys
// and the same placeholders, and that every key the code names exists.

import en from './i18n/en.js';
import zhCN from './i18n/zh-CN.js';

const CATALOGUES = { en, 'zh-CN': zhCN };
const STORE_KEY = 'huddle.lang';

/** The languages the client speaks, each named in itself (for the switch). */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '简体中文' },
];

/** Maps a BCP 47 tag to a catalogue we have, or '' when none fits. */
export function matchLanguage(tag) {
  if (typeof tag !== 'string' || tag === '') return '';
  const lower = tag.toLowerCase();
  // Simplified Chinese is what zh, zh-CN, zh-SG and zh-Hans mean; zh-TW/HK
  // readers get it too rather than English (closer to what they read).
  if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN';
  if (lower === 'en' || lower.startsWith('en-')) return 'en';
  return '';
}

function storedChoice() {
  try {
    return localStorage.getItem(STORE_KEY) || '';
  } catch {
    return ''; // storage disabled (private mode on some browsers)
  }
}

function chooseLanguage() {
  const param = matchLanguage(new URLSearchParams(location.search).get('lang') || '');
  if (param) return param;
  const saved = matchLanguage(storedChoice());
  if (saved) return saved;
  for (const tag of navigator.languages || [navigator.language]) {
    const m = matchLanguage(tag);
    if (m) return m;
  }
  return 'en';
}

const current = chooseLanguage();

/** The language in use: 'en' or 'zh-CN'. */
export function language() {
  return current;
}

/**
 * The text of key in the current language with {placeholders} filled from
 * params. A key missing from the catalogue shows as itself (and is logged), so
 * a slip is visible instead of an empty label.
 */
export function t(key, params) {
  let text = CATALOGUES[current][key];
  if (text === undefined) text = en[key];
  if (text === undefined) {
    console.warn(`huddle: no text for ${key}`);
    return key;
  }
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/**
 * The text for a count: key.one or key.other as the language's plural rules
 * pick for n (Chinese has only .other; English both), with {n} and params.
 */
export function tn(key, n, params = {}) {
  const form = new Intl.PluralRules(current).select(n);
  const full = `${key}.${form}`;
  const chosen = full in CATALOGUES[current] || full in en ? full : `${key}.other`;
  return t(chosen, { ...params, n });
}

/** Whether the catalogue has key (for codes from the server that may be new). */
export function hasText(key) {
  return key in en;
}

/** Fills every data-i18n element and data-i18n-attr attribute under root. */
export function translatePage(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(/\s+/)) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

/**
 * Switches to code: saves the choice, puts it in the address (so a copied
 * link keeps it) and reloads.
 */
export function setLanguage(code) {
  if (!CATALOGUES[code] || code === current) return;
  try {
    localStorage.setItem(STORE_KEY, code);
  } catch {
    // Not saved; the address below still carries it for this tab.
  }
  const url = new URL(location.href);
  url.searchParams.set('lang', code);
  location.replace(url.toString());
}

/** Formats a time of day in the user's language and time zone. */
export function formatTime(date) {
  return new Intl.DateTimeFormat(current, { hour: '2-digit', minute: '2-digit' }).format(date);
}
