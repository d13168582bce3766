// A rollout event as each chat service's incoming webhook expects it, within that service's limits
// (a message over them is refused, not cut): Slack `{ text, blocks }`, Discord `{ content, embeds }`,
// Teams a message with one Adaptive Card attachment (what both the retired Office 365 connectors and
// Power Automate's "post to a channel when a webhook request is received" accept).
import type { RolloutEvent } from '../domain/rollout.js';
import { chatText, type ChatText, type ChatTone } from './chat-text.js';

/** Cuts to `max` characters, ending with an ellipsis when something was cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never split a surrogate pair: a lone half is invalid in JSON consumers' UTF-8.
  let end = max - 1;
  if (/[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end -= 1;
  return `${text.slice(0, end)}…`;
}

const SLACK = { text: 40_000, header: 150, section: 3_000, context: 2_000 } as const;

export function slackPayload(e: RolloutEvent): { text: string; blocks: unknown[] } {
  const t = chatText(e);
  const body = t.lines.join('\n');
  return {
    // The notification and fallback text; the blocks are what the channel shows.
    text: truncate(slackEscape(`${t.title}\n${body}`), SLACK.text),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(`${ICON[t.tone]} ${t.title}`, SLACK.header) } },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(slackEscape(body), SLACK.section) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(slackEscape(t.context), SLACK.context) }] },
    ],
  };
}

/** Slack's mrkdwn reads &, < and > as markup. */
const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const DISCORD = { content: 2_000, title: 256, description: 4_096, footer: 2_048 } as const;

export function discordPayload(e: RolloutEvent): { content: string; embeds: unknown[]; allowed_mentions: unknown } {
  const t = chatText(e);
  return {
    content: truncate(`${ICON[t.tone]} ${t.title}`, DISCORD.content),
    embeds: [
      {
        title: truncate(t.title, DISCORD.title),
        description: truncate(t.lines.join('\n'), DISCORD.description),
        color: COLOR[t.tone],
        footer: { text: truncate(t.context, DISCORD.footer) },
        timestamp: e.at,
      },
    ],
    // A service or route name must never ping anyone.
    allowed_mentions: { parse: [] },
  };
}

/** Teams refuses bodies over ~28 KB; at most 3 UTF-8 bytes per character keeps the text well under it. */
const TEAMS_TEXT = 8_000;

export function teamsPayload(e: RolloutEvent): { type: 'message'; attachments: unknown[] } {
  const t = chatText(e);
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: teamsBody(t),
        },
      },
    ],
  };
}

function teamsBody(t: ChatText): unknown[] {
  const text = truncate(t.lines.join('\n\n'), TEAMS_TEXT);
  return [
    { type: 'TextBlock', text: t.title, weight: 'Bolder', size: 'Medium', color: TEAMS_COLOR[t.tone], wrap: true },
    { type: 'TextBlock', text, wrap: true },
    { type: 'TextBlock', text: t.context, isSubtle: true, size: 'Small', wrap: true },
  ];
}

const ICON: Record<ChatTone, string> = { good: '✅', warning: '⏸️', bad: '❌', info: 'ℹ️' };
const COLOR: Record<ChatTone, number> = { good: 0x2eb67d, warning: 0xecb22e, bad: 0xe01e5a, info: 0x3b82f6 };
const TEAMS_COLOR: Record<ChatTone, string> = { good: 'Good', warning: 'Warning', bad: 'Attention', info: 'Accent' };
