// The bot's system prompt: about 5,000 words of product docs, FAQ and policies for a fictional
// company, built deterministically so the prompt cache sees the same prefix on every call.
const PRODUCTS = ["Acme Cloud Drive", "Acme Mail", "Acme Calendar", "Acme Notes", "Acme Backup", "Acme VPN"];
const TOPICS: Array<[string, string]> = [
  [
    "Getting started",
    "Create an account from the sign-up page, confirm your email address within 24 hours, and choose a plan. The free plan includes 5 GB of storage and one device; paid plans add storage, devices and priority support.",
  ],
  [
    "Billing",
    "Invoices are issued on the first day of each billing period. We accept major credit cards and bank transfers for annual plans. Prices exclude VAT, which is added according to your billing address.",
  ],
  [
    "Refunds",
    "Monthly plans can be refunded within 14 days of a charge if the service was unavailable for more than 4 hours in that period. Annual plans can be refunded pro rata within 30 days of renewal.",
  ],
  [
    "Shipping",
    "Hardware keys ship within 2 business days. Tracking numbers are emailed when the parcel leaves our warehouse. International deliveries take 5 to 10 business days and may incur customs fees.",
  ],
  [
    "Security",
    "All data is encrypted at rest with AES-256 and in transit with TLS 1.3. Two-factor authentication is available with authenticator apps and hardware keys. We never ask for your password by email or phone.",
  ],
  [
    "Account recovery",
    "If you lose access to your second factor, use one of your recovery codes. Without recovery codes, identity verification takes up to 5 business days and requires a government-issued ID.",
  ],
  [
    "Data export",
    "You can export all of your data at any time from Settings, Privacy, Export. Exports are prepared within 48 hours and kept available for download for 7 days.",
  ],
  [
    "Outages",
    "Our status page lists current incidents and maintenance windows. Service credits are granted automatically when monthly availability falls below 99.9 percent.",
  ],
  [
    "Troubleshooting",
    "Most sync problems are solved by signing out and in again, checking that the device clock is correct, and making sure no firewall blocks outgoing connections on port 443. Collect the diagnostic report from Help, Report a problem, before contacting support.",
  ],
  [
    "Plans and limits",
    "Each plan has a storage quota, a device limit and an API rate limit. Exceeding the storage quota pauses uploads but never deletes data; upgrading or removing files resumes them immediately.",
  ],
];
const POLICIES = [
  "Be concise and friendly. Answer in the customer's language.",
  "Never promise refunds outside the refund policy; offer to escalate instead.",
  "Never ask for passwords, recovery codes or full card numbers.",
  "When you are unsure, say so and offer to connect the customer with a human agent.",
];

export function supportDocs(): string {
  const parts = [
    "You are the customer support assistant of Acme. Use only the documentation below.",
    "",
    "# Policies",
    ...POLICIES,
    "",
  ];
  for (const product of PRODUCTS) {
    parts.push(`# ${product}`);
    for (const [topic, text] of TOPICS) {
      parts.push(
        `## ${product}: ${topic}`,
        text,
        `For ${product}, the same applies to team accounts; administrators can manage it for every member from the admin console.`,
        "",
      );
      parts.push(`Q: How does ${topic.toLowerCase()} work for ${product}? A: ${text.split(". ")[0]}.`, "");
    }
  }
  return parts.join("\n");
}
