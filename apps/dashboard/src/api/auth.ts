/**
 * The one place a credential lives and travels from. Today the local relay runs with auth off and no
 * token is needed; once auth is on, HTTP calls carry `Authorization: Bearer <token>` and every
 * WebSocket sends `{"type":"auth","token"}` as its first frame (never the URL). A 401 or a 4401 close
 * asks the page for a token (`onTokenRequired`).
 */
const STORAGE_KEY = 'sandbox-relay.token';

type Listener = () => void;
const requiredListeners = new Set<Listener>();
const changedListeners = new Set<Listener>();

function storage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

export const auth = {
  token(): string | null {
    return storage()?.getItem(STORAGE_KEY) ?? null;
  },
  setToken(token: string | null): void {
    const store = storage();
    if (token) store?.setItem(STORAGE_KEY, token);
    else store?.removeItem(STORAGE_KEY);
    for (const listener of changedListeners) listener();
  },
  /** Headers for every HTTP call to the relay. */
  headers(): Record<string, string> {
    const token = auth.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  },
  /** The first frame of a WebSocket, or nothing while no token is set (auth off). */
  firstFrame(): string | null {
    const token = auth.token();
    return token ? JSON.stringify({ type: 'auth', token }) : null;
  },
  /** The relay refused us (HTTP 401, WebSocket close 4401). */
  required(): void {
    for (const listener of requiredListeners) listener();
  },
  onTokenRequired(listener: Listener): () => void {
    requiredListeners.add(listener);
    return () => requiredListeners.delete(listener);
  },
  onTokenChanged(listener: Listener): () => void {
    changedListeners.add(listener);
    return () => changedListeners.delete(listener);
  },
};
