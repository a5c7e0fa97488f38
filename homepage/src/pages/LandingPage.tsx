import { Link } from 'react-router'
import { useDocumentTitle } from '../hooks/useDocumentTitle'

export function LandingPage() {
  useDocumentTitle(null)
  return (
    <main className="landing">
      <div className="landing__card">
        <span className="avatar avatar--hero" aria-hidden="true">
          CJ
        </span>
        <h1 className="landing__title">Meet CJ, your customer-support teammate</h1>
        <p className="landing__lead">
          CJ learns your Shopify store and answers your customers the way you would. Chat with
          CJ, connect your store, and pick up where you left off any time.
        </p>
        <Link to="/chat" className="button button--primary button--large" data-testid="start-chat">
          Chat with CJ
        </Link>
      </div>
    </main>
  )
}
