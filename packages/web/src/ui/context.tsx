/**
 * The console's session: the API client (carrying the user's token), who the user is, the
 * language, and how to sign out. Views read it with useSession() / useI18n().
 */
import { createContext, useContext } from 'react';
import type { SuanliClient, WhoAmI } from '@suanli/client';
import { translate, type Lang, type MessageKey } from '../lib/i18n.js';

export interface I18n {
  readonly lang: Lang;
  readonly t: (key: MessageKey, vars?: Readonly<Record<string, string | number>>) => string;
  readonly setLang: (lang: Lang) => void;
}

export const I18nContext = createContext<I18n>({
  lang: 'zh-CN',
  t: (k, v) => translate('zh-CN', k, v),
  setLang: () => undefined,
});
export const useI18n = (): I18n => useContext(I18nContext);

export interface Session {
  readonly client: SuanliClient;
  readonly me: WhoAmI;
  readonly baseUrl: string;
  /** The API token, for the endpoints reached without the typed client (see api.ts). */
  readonly token: string;
  /** fetch that signs the user out on a 401. */
  readonly fetch: typeof fetch;
  readonly logout: () => void;
}

export const SessionContext = createContext<Session | null>(null);
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in console');
  return s;
}

export const STORAGE_TOKEN = 'suanli.token';
export const STORAGE_LANG = 'suanli.lang';

/** localStorage may be unavailable (privacy modes): the console then works for this tab only. */
export function storageGet(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}
export function storageSet(key: string, value: string | null): void {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    /* not persisted */
  }
}
