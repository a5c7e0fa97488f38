import { Link } from 'react-router'
import { useDocumentTitle } from '../hooks/useDocumentTitle'

export function NotFoundPage() {
  useDocumentTitle('Page not found')
  return (
    <main className="page">
      <div className="panel">
        <h1>Page not found</h1>
        <p>
          There is nothing here. <Link to="/chat">Go to the chat</Link>.
        </p>
      </div>
    </main>
  )
}
