/**
 * Tony Studio's shell: a header with one link per page, hash routing (#/<page id>), and the page
 * drawn into <main>. Pages come from pages/*.ts through the generated entry (src/studio/build.ts).
 */
import './style.css';
import { api, el, type StudioInfo, type StudioPage } from './page.ts';

export async function start(pages: StudioPage[]): Promise<void> {
  pages.sort((a, b) => a.order - b.order);
  const nav = el('nav', { 'aria-label': 'Studio pages' });
  const main = el('main', { id: 'page', tabindex: '-1' });
  const menu = el('button', { class: 'menu', 'aria-expanded': 'false', 'aria-controls': 'nav-links', text: 'Menu' });
  const links = el('ul', { id: 'nav-links' });
  nav.append(menu, links);
  document.body.append(
    el('header', {}, el('a', { class: 'brand', href: '#/' + pages[0]!.id }, 'Tony ', el('span', {}, 'Studio')), nav),
    main,
  );
  menu.addEventListener('click', () => menu.setAttribute('aria-expanded', String(links.classList.toggle('open'))));

  let info: StudioInfo;
  try {
    info = await api<StudioInfo>('/api/studio');
  } catch (err) {
    main.append(el('p', { class: 'status error', text: `The studio server did not answer: ${(err as Error).message}` }));
    return;
  }
  // A kind's page shows when this server loaded a model that can do what the page needs.
  pages = pages.filter((p) => !p.needs || info.models.some((m) => m.capabilities.includes(p.needs!)));
  for (const p of pages) links.append(el('li', {}, el('a', { href: `#/${p.id}`, 'data-page': p.id }, p.title)));

  // biome-ignore lint/suspicious/noConfusingVoidType: what a page's render returns (page.ts)
  let leave: void | (() => void);
  const show = async () => {
    const id = location.hash.replace(/^#\/?/, '').split('?')[0] || pages[0]!.id;
    const page = pages.find((p) => p.id === id) ?? pages[0]!;
    if (typeof leave === 'function') leave();
    leave = undefined;
    for (const a of links.querySelectorAll('a')) a.toggleAttribute('aria-current', a.dataset.page === page.id);
    links.classList.remove('open');
    menu.setAttribute('aria-expanded', 'false');
    document.title = `${page.title} · Tony Studio`;
    main.replaceChildren(el('h1', { text: page.title }));
    main.dataset.page = page.id;
    delete main.dataset.ready;
    try {
      leave = await page.render(main, info);
    } catch (err) {
      main.append(el('p', { class: 'status error', text: (err as Error).message }));
    }
    main.dataset.ready = 'true'; // tests wait for this
  };
  // After a menu choice, focus moves to the page, so keyboard and screen-reader users land on it.
  window.addEventListener('hashchange', () => void show().then(() => main.focus({ preventScroll: true })));
  await show();
}
