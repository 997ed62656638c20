// The CNI conf template renderer: containerd's placeholders, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfTemplateError, renderConfTemplate, type ConfTemplateData } from '../../src/network/conf-template.js';

const dual: ConfTemplateData = { PodCIDR: '10.244.1.0/24', PodCIDRRanges: ['10.244.1.0/24', 'fd00:10:244:1::/64'], Routes: ['0.0.0.0/0', '::/0'] };
const v4: ConfTemplateData = { PodCIDR: '10.244.7.0/24', PodCIDRRanges: ['10.244.7.0/24'], Routes: ['0.0.0.0/0'] };

// The shape operators write for containerd: ranges and routes joined with a comma between items.
const LIST_TEMPLATE = `{{- /* host-local over the node's ranges */ -}}
{
  "cniVersion": "1.0.0",
  "name": "podnet",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipam": {
        "type": "host-local",
        "ranges": [{{range $i, $r := .PodCIDRRanges}}{{if $i}}, {{end}}[{"subnet": "{{$r}}"}]{{end}}],
        "routes": [{{range $i, $route := .Routes}}{{if $i}}, {{end}}{"dst": "{{$route}}"}{{end}}]
      }
    },
    {{/* hostPorts */}}
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
`;

test('ranges and routes of a dual-stack node render as JSON lists', () => {
  const conf = JSON.parse(renderConfTemplate(LIST_TEMPLATE, dual)) as {
    plugins: Array<{ ipam?: { ranges: unknown; routes: unknown } }>;
  };
  assert.deepEqual(conf.plugins[0]!.ipam!.ranges, [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:10:244:1::/64' }]]);
  assert.deepEqual(conf.plugins[0]!.ipam!.routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
  assert.equal(conf.plugins.length, 2);
});

test('a single-stack node gets one range, no stray comma', () => {
  const out = renderConfTemplate(LIST_TEMPLATE, v4);
  assert.match(out, /"ranges": \[\[\{"subnet": "10\.244\.7\.0\/24"\}\]\]/);
  assert.match(out, /"routes": \[\{"dst": "0\.0\.0\.0\/0"\}\]/);
  assert.ok(out.startsWith('{'), 'the leading comment and the whitespace after it are trimmed');
});

test('.PodCIDR, $.PodCIDR inside a range, a range over dot and spaces inside actions', () => {
  assert.equal(renderConfTemplate('subnet={{ .PodCIDR }}', v4), 'subnet=10.244.7.0/24');
  assert.equal(renderConfTemplate('{{range .Routes}}<{{.}}>{{end}}', dual), '<0.0.0.0/0><::/0>');
  assert.equal(renderConfTemplate('{{range $r := .PodCIDRRanges}}{{$r}}+{{$.PodCIDR}};{{end}}', dual), '10.244.1.0/24+10.244.1.0/24;fd00:10:244:1::/64+10.244.1.0/24;');
  assert.equal(renderConfTemplate('{{range $i, $r := .Routes}}{{if $i}}|{{else}}first:{{end}}{{$r}}{{end}}', dual), 'first:0.0.0.0/0|::/0');
  assert.equal(renderConfTemplate('{{range .PodCIDRRanges}}x{{else}}none{{end}}', { PodCIDR: '', PodCIDRRanges: [], Routes: [] }), 'none');
  assert.equal(renderConfTemplate('a  {{- .PodCIDR -}}  \n b', v4), 'a10.244.7.0/24b');
});

test('template syntax outside the supported forms is a clear error with its line', () => {
  const bad: Array<[string, RegExp]> = [
    ['{\n"x": "{{.NodeName}}"}', /:2: unknown field \.NodeName/],
    ['{{printf "%s" .PodCIDR}}', /unsupported action/],
    ['{{.PodCIDR | html}}', /unsupported action/],
    ['{{range .PodCIDRRanges}}x', /has no \{\{end\}\}/],
    ['x{{end}}', /unexpected \{\{end\}\}/],
    ['{{$r}}', /undefined variable \$r/],
    ['{{range $r := .Routes}}{{end}}{{$r}}', /undefined variable \$r/],
    ['{{template "x"}}', /unsupported action/],
    ['{{with .PodCIDR}}{{.}}{{end}}', /unsupported action/],
    ['{{if eq .PodCIDR "x"}}{{end}}', /unsupported condition/],
    ['{{else if .PodCIDR}}', /unsupported/],
    ['{{.PodCIDRRanges}}', /is a list; use it in a range/],
    ['{{range .PodCIDR}}{{end}}', /not a list/],
    ['{{range .Routes}}{{.PodCIDR}}{{end}}', /inside a range, use \$\.PodCIDR/],
    ['{{.PodCIDR', /unclosed action/],
    ['{{/* never closed }}', /unclosed comment/],
    ['{{}}', /empty action/],
  ];
  for (const [template, message] of bad) {
    assert.throws(() => renderConfTemplate(template, dual, 'tpl'), (err: unknown) => err instanceof ConfTemplateError && message.test(err.message), template);
  }
});

test('hostile templates are bounded: size, nesting depth', () => {
  assert.throws(() => renderConfTemplate('x'.repeat(70 * 1024), v4), /larger than/);
  const deep = '{{range .Routes}}'.repeat(20) + '{{end}}'.repeat(20);
  assert.throws(() => renderConfTemplate(deep, v4), /nested deeper/);
});
