import { Link } from 'react-router'

export function NotFoundPage() {
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
