/**
 * A throw-away PKI for TLS tests, made with the `openssl` command line: a CA, and certificates
 * it signs for a server (CN and subjectAltName for 127.0.0.1/localhost) or a client.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of one certificate and its key. */
export interface Issued {
  certFile: string;
  keyFile: string;
}

/** A CA in `dir` that issues certificates. */
export interface TestPki {
  caFile: string;
  caKeyFile: string;
  issue(name: string, options?: { commonName?: string; days?: number; client?: boolean }): Issued;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** Makes a CA (CN `commonName`, valid `days`) in `dir`. */
export function createTestPki(dir: string, commonName = 'DicomBridge Test CA', days = 30): TestPki {
  const caKeyFile = join(dir, `${commonName.replace(/\W+/g, '-')}.key`);
  const caFile = join(dir, `${commonName.replace(/\W+/g, '-')}.pem`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKeyFile, '-out', caFile, '-days', String(days), '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 1;
  return {
    caFile,
    caKeyFile,
    issue(name, options = {}) {
      const keyFile = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const certFile = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, options.client
        ? 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
        : 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${options.commonName ?? name}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKeyFile, '-set_serial', String(serial++), '-out', certFile,
        '-days', String(options.days ?? 30), '-extfile', ext]);
      return { certFile, keyFile };
    },
  };
}
