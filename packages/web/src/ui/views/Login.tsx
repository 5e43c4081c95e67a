import { useState, type FormEvent } from 'react';
import { SuanliClient, type WhoAmI } from '@suanli/client';
import { useI18n } from '../context.js';
import { errorMessage } from '../api.js';

export function Login(props: {
  baseUrl: string;
  expired: boolean;
  onSignedIn: (token: string, me: WhoAmI) => void;
}) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const tok = token.trim();
    if (!tok) return;
    setBusy(true);
    setError(null);
    try {
      const me = await new SuanliClient({ url: props.baseUrl, token: tok }).whoami();
      props.onSignedIn(tok, me);
    } catch (err) {
      setError(t('login.invalid', { message: errorMessage(err) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card login" aria-labelledby="login-title">
      <h1 id="login-title">{t('login.title')}</h1>
      <p>{t('login.intro')}</p>
      {props.expired && !error ? (
        <p className="error" role="alert">
          {t('login.expired')}
        </p>
      ) : null}
      <form onSubmit={(e) => void submit(e)} aria-label={t('login.title')}>
        <label htmlFor="token">{t('login.token')}</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          required
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'login-error' : 'login-hint'}
        />
        <p id="login-hint" className="muted small">
          {t('login.remember')}
        </p>
        {error ? (
          <p id="login-error" className="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy || !token.trim()}>
          {busy ? t('login.checking') : t('login.submit')}
        </button>
      </form>
    </section>
  );
}
