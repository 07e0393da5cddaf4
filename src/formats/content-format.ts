/** CoAP Content-Format numbers used by LwM2M (IANA CoAP registry). */
export const ContentFormat = {
  TEXT: 0,
  LINK_FORMAT: 40,
  OPAQUE: 42,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  TLV: 11542,
  /** The LwM2M 1.0 JSON format, deprecated since 1.1. */
  OLD_JSON: 11543,
  LWM2M_CBOR: 11544,
} as const;

export type ContentFormatNumber = (typeof ContentFormat)[keyof typeof ContentFormat];

/**
 * Older clients used numbers from the experimental range before IANA
 * assigned the final ones (Leshan and Wakaama still accept them).
 */
export const LEGACY_CONTENT_FORMAT: Readonly<Record<number, ContentFormatNumber>> = {
  1542: ContentFormat.TLV,
  1543: ContentFormat.OLD_JSON,
};

export const CONTENT_FORMAT_NAMES: Readonly<Record<number, string>> = {
  [ContentFormat.TEXT]: 'text',
  [ContentFormat.LINK_FORMAT]: 'link',
  [ContentFormat.OPAQUE]: 'opaque',
  [ContentFormat.CBOR]: 'cbor',
  [ContentFormat.SENML_JSON]: 'senml-json',
  [ContentFormat.SENML_CBOR]: 'senml-cbor',
  [ContentFormat.TLV]: 'tlv',
  [ContentFormat.OLD_JSON]: 'json',
  [ContentFormat.LWM2M_CBOR]: 'lwm2m-cbor',
};

export function contentFormatName(format: number): string {
  return CONTENT_FORMAT_NAMES[format] ?? `format-${format}`;
}

/** Accepts a number or a name ("senml-cbor", "tlv") and returns the number. */
export function parseContentFormat(input: number | string): ContentFormatNumber | undefined {
  if (typeof input === 'number') {
    if (input in CONTENT_FORMAT_NAMES) return input as ContentFormatNumber;
    return LEGACY_CONTENT_FORMAT[input];
  }
  const text = input.trim().toLowerCase();
  if (/^\d+$/.test(text)) return parseContentFormat(Number(text));
  for (const [num, name] of Object.entries(CONTENT_FORMAT_NAMES)) if (name === text) return Number(num) as ContentFormatNumber;
  return undefined;
}
