// Parts of a page rendered in a later task, when the browser is idle: the page's first render
// (and its charts' requests) is not held up by tables and plots further down.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

export function Deferred({ children, order = 0 }: { children: ComponentChildren; order?: number }) {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    let idle = 0;
    let timer = 0;
    const show = () => setShown(true);
    // `order` puts parts one after another, each in its own idle slice
    const wait = (left: number) => {
      idle = requestIdleCallback(() => (left > 0 ? wait(left - 1) : show()), { timeout: 1500 });
    };
    if (typeof requestIdleCallback === "function") wait(order);
    else timer = setTimeout(show, 50 * (order + 1));
    return () => {
      if (idle) cancelIdleCallback(idle);
      if (timer) clearTimeout(timer);
    };
  }, []);
  return shown ? <>{children}</> : <p class="muted">Loading…</p>;
}
