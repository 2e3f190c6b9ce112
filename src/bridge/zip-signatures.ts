/**
 * Signatures of the ZIP records the bridge writes (study ZIPs) and checks (Outbox ZIPs), from
 * PKWARE's APPNOTE.TXT (4.3.7, 4.3.9, 4.3.12, 4.3.14–4.3.16).
 */
export const LOCAL_FILE_HEADER = 0x04034b50;
export const DATA_DESCRIPTOR = 0x08074b50;
export const CENTRAL_DIRECTORY_HEADER = 0x02014b50;
export const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
export const ZIP64_END_OF_CENTRAL_DIRECTORY_LOCATOR = 0x07064b50;
export const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
