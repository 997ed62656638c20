// Imported images answer ListImages and ImageStatus through the socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BUSYBOX, cricketCli, REPO, useCricket } from '../harness/cricket.js';
import type { Message } from '../client/cri.js';

const d = useCricket();

interface CriImage { id: string; repo_tags: string[]; size: string; pinned: boolean; uid: { value: string } | null; username: string }

test('ListImages shows the imported image and the pinned pause image', async () => {
  const { images } = await d.cri.image.call<{ images: CriImage[] }>('ListImages', {});
  const busybox = images.find((i) => i.repo_tags.includes(BUSYBOX));
  const pause = images.find((i) => i.repo_tags.includes('cricket.local/pause:built-in'));
  assert.ok(busybox && pause);
  assert.equal(pause.pinned, true);
  assert.equal(busybox.pinned, false);
  assert.ok(Number(busybox.size) > 1_000_000);
  assert.equal(pause.uid?.value, '65535');
  const filtered = await d.cri.image.call<{ images: CriImage[] }>('ListImages', { filter: { image: { image: 'cricket.local/busybox' } } });
  assert.deepEqual(filtered.images.map((i) => i.id), [busybox.id]);
  // The list's items (kept wire bytes) read back as ImageStatus's freshly encoded images, and
  // stay the same when listed again.
  for (const listed of images) {
    const { image } = await d.cri.image.call<{ image: CriImage }>('ImageStatus', { image: { image: listed.id } });
    assert.deepEqual(listed, image);
  }
  assert.deepEqual((await d.cri.image.call<{ images: CriImage[] }>('ListImages', {})).images, images);
});

test('ImageStatus by tag, id and id prefix; unknown images give an empty answer', async () => {
  const byTag = await d.cri.image.call<{ image: CriImage | null }>('ImageStatus', { image: { image: BUSYBOX } });
  assert.ok(byTag.image);
  const byId = await d.cri.image.call<{ image: CriImage | null }>('ImageStatus', { image: { image: byTag.image.id } });
  assert.equal(byId.image?.id, byTag.image.id);
  const byPrefix = await d.cri.image.call<{ image: CriImage | null }>('ImageStatus', { image: { image: byTag.image.id.slice(7, 19) } });
  assert.equal(byPrefix.image?.id, byTag.image.id);
  const unknown = await d.cri.image.call<{ image: CriImage | null }>('ImageStatus', { image: { image: 'cricket.local/nothing:here' } });
  assert.equal(unknown.image, null);
});

test('an image imported while the daemon runs is seen at once, from an archive of each kind', async () => {
  for (const [file, name] of [['busybox.oci.tar', 'cricket.local/oci-archive:1'], ['busybox.docker.tar', 'cricket.local/docker-archive:1']] as const) {
    cricketCli(['image', 'import', join(REPO, 'build', 'images', file), '--name', name, '--root', d.root]);
    const { image } = await d.cri.image.call<{ image: Message | null }>('ImageStatus', { image: { image: name } });
    assert.ok(image, `${name} visible`);
  }
});
