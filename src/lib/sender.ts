/**
 * The sender line of page and email footers: the brand and the postal address that anti-spam law
 * (CAN-SPAM, PECR/ePrivacy) asks for. Operators often write the address with the brand in front
 * ("Natural Acne Medicine · 1 High St"); the brand is then shown once, not twice.
 *
 * Returns the parts to show in order: `[brand, address]`, or `[address]` when the address already
 * starts with the brand (compared case-insensitively, ignoring surrounding spaces).
 */
export function senderParts(brandName: string, postalAddress: string): string[] {
  const brand = brandName.trim();
  const address = postalAddress.trim();
  if (brand !== "" && address.toLocaleLowerCase("en").startsWith(brand.toLocaleLowerCase("en"))) return [address];
  return [brand, address].filter((part) => part !== "");
}
