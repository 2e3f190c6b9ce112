/**
 * GET /api/certificates: the Settings tab's Certificates panel and the status strip's
 * certificate and transport warnings. Answers `{ certificates, warnings, gui }` where `gui`
 * says whether the page is served over HTTPS and whether it is plain HTTP off loopback (the
 * password then crosses the network unencrypted: the page shows a permanent warning).
 */
import { isLoopbackAddress } from '../../config/schema.js';
import { sendJson } from '../http.js';
import { certificateWarnings, describeConfiguredCertificates } from '../tls-files.js';
import type { Route } from './context.js';

/** The page's warning when the GUI is reached over plain HTTP off loopback. */
export const PLAIN_HTTP_WARNING = 'password sent without encryption: set gui.tls.certFile and gui.tls.keyFile to serve the GUI over HTTPS';

export const getCertificates: Route = async ({ res, supervisor, gui }) => {
  const config = supervisor.config;
  const certificates = await describeConfiguredCertificates(config);
  const https = gui.url.startsWith('https:');
  const plainOffLoopback = !https && !isLoopbackAddress(config.gui.host);
  sendJson(res, 200, {
    certificates,
    warnings: certificateWarnings(certificates),
    gui: { https, plainOffLoopback, warning: plainOffLoopback ? PLAIN_HTTP_WARNING : '' },
  });
};
