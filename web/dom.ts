/**
 * Building elements without HTML strings: text goes in as text, never parsed, so a file
 * name or a value read from an image cannot inject markup.
 *
 * @module
 */

/** A child: an element, text, or nothing (skipped). */
export type Child = Node | string | number | undefined | null | false;

/**
 * `<tag attribute=value ...>children</tag>`. Attributes whose value is `undefined` or
 * `false` are left out; `true` sets an empty attribute.
 */
export function h<Tag extends keyof HTMLElementTagNameMap>(
  tag: Tag,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[Tag] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

/** Appends children, skipping empty ones. */
export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}
