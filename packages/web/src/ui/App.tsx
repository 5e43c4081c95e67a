/**
 * The console shell: language, sign-in, navigation and routes. Every call goes through
 * @suanli/client to the public API of the server that served the page (same origin).
 */
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { ApiClientError, SuanliClient, type WhoAmI } from '@suanli/client';
import { LANGS, pickLang, translate, type Lang } from '../lib/i18n.js';
import { can } from '../lib/roles.js';
import {
  I18nContext,
  SessionContext,
  STORAGE_LANG,
  STORAGE_TOKEN,
  storageGet,
  storageSet,
  useI18n,
  useSession,
  type I18n,
  type Session,
} from './context.js';
import { Link, navigate, useLocation } from './router.js';
import { Login } from './views/Login.js';
import { Overview } from './views/Overview.js';
import { Jobs } from './views/Jobs.js';
import { JobPage } from './views/JobPage.js';
import { ArrayPage } from './views/ArrayPage.js';
import { ARRAY_PATH_RE, JOB_PATH_RE } from '../lib/job-list.js';
// The YAML editor pulls in a YAML parser: load it only when someone opens it.
const Submit = lazy(() => import('./views/Submit.js').then((m) => ({ default: m.Submit })));
import { Nodes } from './views/Nodes.js';
// The bookings view (calendar, forms) is loaded when someone opens it.
const Bookings = lazy(() => import('./views/Bookings.js').then((m) => ({ default: m.Bookings })));
import { Usage } from './views/Usage.js';

const BASE_URL = window.location.origin;

function makeClient(
  token: string,
  onUnauthorized: () => void,
): { client: SuanliClient; fetch: typeof fetch } {
  const f: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (res.status === 401) onUnauthorized();
    return res;
  };
  return { client: new SuanliClient({ url: BASE_URL, token, fetch: f, timeoutMs: 30_000 }), fetch: f };
}

export function App() {
  const [lang, setLangState] = useState<Lang>(() =>
    pickLang(storageGet(STORAGE_LANG), navigator.languages ?? [navigator.language]),
  );
  const setLang = useCallback((l: Lang) => {
    storageSet(STORAGE_LANG, l);
    setLangState(l);
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = translate(lang, 'app.title');
  }, [lang]);
  const i18n: I18n = useMemo(() => ({ lang, setLang, t: (k, v) => translate(lang, k, v) }), [lang, setLang]);

  const [token, setToken] = useState<string | null>(() => storageGet(STORAGE_TOKEN));
  const [me, setMe] = useState<WhoAmI | null>(null);
  const [expired, setExpired] = useState(false);
  const [checking, setChecking] = useState(token !== null);

  const logout = useCallback((why: 'user' | 'expired' = 'user') => {
    storageSet(STORAGE_TOKEN, null);
    setToken(null);
    setMe(null);
    setExpired(why === 'expired');
  }, []);

  const made = useMemo(() => (token ? makeClient(token, () => logout('expired')) : null), [token, logout]);
  const client = made?.client ?? null;

  // A remembered token is checked once on load.
  useEffect(() => {
    if (!client || me) return;
    let stop = false;
    setChecking(true);
    client
      .whoami()
      .then((w) => !stop && setMe(w))
      .catch((err: unknown) => {
        if (stop) return;
        if (err instanceof ApiClientError && err.status === 401) logout('expired');
      })
      .finally(() => !stop && setChecking(false));
    return () => {
      stop = true;
    };
  }, [client, me, logout]);

  const signIn = useCallback((t: string, w: WhoAmI) => {
    storageSet(STORAGE_TOKEN, t);
    setExpired(false);
    setToken(t);
    setMe(w);
  }, []);

  const session: Session | null = useMemo(
    () =>
      made && token && me
        ? {
            client: made.client,
            me,
            baseUrl: BASE_URL,
            token,
            fetch: made.fetch,
            logout: () => logout('user'),
          }
        : null,
    [made, token, me, logout],
  );

  return (
    <I18nContext.Provider value={i18n}>
      {session ? (
        <SessionContext.Provider value={session}>
          <Shell />
        </SessionContext.Provider>
      ) : (
        <div className="login-shell">
          <header className="topbar">
            <span className="brand">{i18n.t('app.title')}</span>
            <LangSwitch />
          </header>
          <main id="main">
            {checking && token ? (
              <p className="muted">{i18n.t('login.checking')}</p>
            ) : (
              <Login baseUrl={BASE_URL} expired={expired} onSignedIn={signIn} />
            )}
          </main>
        </div>
      )}
    </I18nContext.Provider>
  );
}

function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label className="lang">
      <span className="sr-only">{t('lang.label')}</span>
      <select
        aria-label={t('lang.label')}
        value={lang}
        onChange={(e) => setLang(e.target.value as Lang)}
        data-testid="lang-switch"
      >
        {LANGS.map((l) => (
          <option key={l} value={l}>
            {l === 'zh-CN' ? '中文' : 'English'}
          </option>
        ))}
      </select>
    </label>
  );
}

const NAV = [
  { href: '/', key: 'nav.overview' },
  { href: '/jobs', key: 'nav.jobs' },
  { href: '/submit', key: 'nav.submit', action: 'job.submit' },
  { href: '/nodes', key: 'nav.nodes' },
  { href: '/bookings', key: 'nav.bookings' },
  { href: '/usage', key: 'nav.usage' },
] as const;

function Shell() {
  const { t } = useI18n();
  const { me, logout } = useSession();
  const { path } = useLocation();
  const active = (href: string) =>
    href === '/'
      ? path === '/'
      : path === href || path.startsWith(href + '/') || (href === '/jobs' && path.startsWith('/job-arrays/'));
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          {t('app.title')}
        </Link>
        <nav aria-label={t('nav.label')} className="nav">
          {NAV.filter((n) => !('action' in n) || can(me.role, n.action)).map((n) => (
            <Link key={n.href} href={n.href} aria-current={active(n.href) ? 'page' : undefined}>
              {t(n.key)}
            </Link>
          ))}
        </nav>
        <div className="session">
          <span className="who" data-testid="whoami">
            {t('session.signedInAs', { subject: me.subject, role: me.role, tenant: me.tenant })}
          </span>
          <LangSwitch />
          <button type="button" className="secondary" onClick={logout}>
            {t('session.logout')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes path={path} />
      </main>
    </div>
  );
}

function Routes({ path }: { path: string }) {
  const { t } = useI18n();
  if (path === '/' || path === '/overview') return <Overview />;
  if (path === '/jobs') return <Jobs />;
  const m = JOB_PATH_RE.exec(path);
  if (m?.[1]) return <JobPage key={m[1]} id={m[1]} />;
  const a = ARRAY_PATH_RE.exec(path);
  if (a?.[1]) return <ArrayPage key={a[1]} id={a[1]} />;
  if (path === '/submit')
    return (
      <Suspense fallback={<p className="muted">{t('common.loading')}</p>}>
        <Submit />
      </Suspense>
    );
  if (path === '/nodes') return <Nodes />;
  if (path === '/bookings')
    return (
      <Suspense fallback={<p className="muted">{t('common.loading')}</p>}>
        <Bookings />
      </Suspense>
    );
  if (path === '/usage') return <Usage />;
  if (path === '/login') {
    navigate('/', true);
    return null;
  }
  return (
    <section>
      <h1>{t('notfound.title')}</h1>
      <Link href="/">{t('notfound.back')}</Link>
    </section>
  );
}
