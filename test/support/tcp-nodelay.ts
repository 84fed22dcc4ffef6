/**
 * Reads TCP_NODELAY off a socket this process holds, from the kernel: finds the socket's file
 * descriptor through /proc (the inode of the connection with these two ports), duplicates it with
 * pidfd_getfd(2) in a python3 child and asks getsockopt(2). Node has no getsockopt, and a flag set
 * only in JavaScript would not count: this is what the kernel will do with the next write.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

const GETSOCKOPT = `
import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
pidfd = libc.syscall(434, int(sys.argv[1]), 0)          # pidfd_open
if pidfd < 0: sys.exit("pidfd_open: errno %d" % ctypes.get_errno())
fd = libc.syscall(438, pidfd, int(sys.argv[2]), 0)       # pidfd_getfd
if fd < 0: sys.exit("pidfd_getfd: errno %d" % ctypes.get_errno())
s = socket.socket(fileno=fd)
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
s.detach()
`;

/** The inode of the IPv4 TCP connection whose local port is `localPort` and remote port `remotePort`. */
function socketInode(localPort: number, remotePort: number): string | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/self/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (f[1]!.endsWith(`:${hex(localPort)}`) && f[2]!.endsWith(`:${hex(remotePort)}`)) return f[9];
  }
  return undefined;
}

/** This process's file descriptor of the TCP connection from `localPort` to `remotePort`. */
export function socketFd(localPort: number, remotePort: number): number {
  const inode = socketInode(localPort, remotePort);
  if (!inode) throw new Error(`no TCP connection ${localPort} -> ${remotePort} in /proc/self/net/tcp`);
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === `socket:[${inode}]`) return Number(fd);
    } catch {
      // closed meanwhile
    }
  }
  throw new Error(`no file descriptor of this process holds socket inode ${inode}`);
}

/** Whether the kernel has TCP_NODELAY set on this process's socket `fd`. */
export async function tcpNoDelay(fd: number): Promise<boolean> {
  const { stdout } = await promisify(execFile)('python3', ['-c', GETSOCKOPT, String(process.pid), String(fd)]);
  return Number(stdout.trim()) !== 0;
}
