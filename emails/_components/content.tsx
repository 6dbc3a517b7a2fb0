import type { ReactNode } from "react";
import { Heading, Link, Section, Text } from "react-email";
import * as s from "./styles";

/**
 * Building blocks for lesson copy. They use real <h2>, <ul> and <p> elements so the plain-text
 * version (converted from the same HTML) keeps its headings, bullet lists and paragraphs.
 */

export function P({ children }: { children: ReactNode }) {
  return (
    <Text className={s.cls.text} style={s.paragraph}>
      {children}
    </Text>
  );
}

export function H2({ children }: { children: ReactNode }) {
  return (
    <Heading as="h2" className={s.cls.text} style={s.h2}>
      {children}
    </Heading>
  );
}

export function List({ items }: { items: readonly ReactNode[] }) {
  return (
    <ul className={s.cls.text} style={s.list}>
      {items.map((item, i) => (
        <li key={i} style={s.listItem}>
          {item}
        </li>
      ))}
    </ul>
  );
}

/** A boxed aside, used for "how strong is the evidence?" notes and safety notes. */
export function Callout({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Section className={s.cls.callout} style={s.callout}>
      <Text className={s.cls.text} style={s.calloutTitle}>
        {title}
      </Text>
      {children}
    </Section>
  );
}

export function CalloutP({ children }: { children: ReactNode }) {
  return (
    <Text className={s.cls.text} style={s.calloutText}>
      {children}
    </Text>
  );
}

export function A({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Link className={s.cls.link} href={href} style={s.link}>
      {children}
    </Link>
  );
}

export function Strong({ children }: { children: ReactNode }) {
  return <strong style={{ fontWeight: 700 }}>{children}</strong>;
}
