/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Base URL of the auth service; '' means same origin (through the dev/preview proxy). */
  readonly VITE_AUTH_BASE_URL?: string
  /** Base URL of the agents HTTP API; '' means same origin. */
  readonly VITE_AGENTS_BASE_URL?: string
  /** ws:// or wss:// base of the agents chat socket; default derives from the page's origin. */
  readonly VITE_AGENTS_WS_URL?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
