// Preloaded into the daemon (NODE_OPTIONS=--import) by `--cpu-prof DIR`: node refuses --cpu-prof
// in NODE_OPTIONS, so the profiler is started through the inspector and its profile written when
// the process exits, as DIR/cricket-PID.cpuprofile (open it in Chrome DevTools).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.CRICKET_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.once('exit', () => {
    // The in-process session answers synchronously, so this finishes before the process does.
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `cricket-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
