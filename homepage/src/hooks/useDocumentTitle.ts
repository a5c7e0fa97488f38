import { useEffect } from 'react'

export const APP_NAME = 'HireCJ'

/** Sets the tab's title to "PAGE · HireCJ" (or just "HireCJ" for an empty page name). */
export function useDocumentTitle(page: string | null | undefined): void {
  useEffect(() => {
    document.title = page ? `${page} · ${APP_NAME}` : APP_NAME
  }, [page])
}
