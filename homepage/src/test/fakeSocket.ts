import { act } from '@testing-library/react'
import type { SocketFactory, SocketLike } from '../api/chatSocket'

/** An in-memory stand-in for the browser WebSocket: records frames, lets a test push frames. */
export class FakeSocket implements SocketLike {
  readyState = 0
  onopen: ((event: Event) => void) | null = null
  onmessage: ((event: MessageEvent) => void) | null = null
  onclose: ((event: CloseEvent) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  readonly sent: Record<string, unknown>[] = []
  closed = false

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open')
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close(): void {
    this.closed = true
    this.readyState = 3
  }

  /** Server side: accept the connection. */
  open(): void {
    act(() => {
      this.readyState = 1
      this.onopen?.(new Event('open'))
    })
  }

  /** Server side: push a frame to the browser. */
  receive(frame: Record<string, unknown>): void {
    act(() => {
      this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(frame) }))
    })
  }

  /** Server side: drop the connection. */
  drop(): void {
    act(() => {
      this.readyState = 3
      this.onclose?.(new CloseEvent('close', { code: 1006 }))
    })
  }

  framesOfType(type: string): Record<string, unknown>[] {
    return this.sent.filter((frame) => frame.type === type)
  }
}

export function fakeSocketFactory(): { factory: SocketFactory; sockets: FakeSocket[]; last: () => FakeSocket } {
  const sockets: FakeSocket[] = []
  const factory: SocketFactory = (url) => {
    const socket = new FakeSocket(url)
    sockets.push(socket)
    return socket
  }
  return {
    factory,
    sockets,
    last: () => {
      const socket = sockets.at(-1)
      if (!socket) throw new Error('no socket was opened')
      return socket
    },
  }
}
