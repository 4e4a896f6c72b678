import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { SecretRotations, type WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { RotationPolicyDto } from './secret.dto';
import { SECRET_ROTATIONS } from './secret.tokens';

/**
 * Rotation policies of secrets (docs/secrets.md#rotation) and the compliance report. The worker
 * rotates; these routes set the schedule, ask for a rotation now, and show what is overdue.
 */
@ApiTags('secrets')
@ApiBearerAuth()
@Controller(`${API}/projects/:project`)
export class SecretRotationController {
  constructor(@Inject(SECRET_ROTATIONS) private readonly rotations: SecretRotations) {}

  @Get('secret-rotations')
  @Requires('viewer')
  @ApiOperation({ summary: 'Compliance report: every rotation policy with its status (failing, overdue, due-soon, ok), worst first' })
  report(@Param('project', KeyPipe) p: string) {
    return this.rotations.report(p);
  }

  @Put('environments/:env/secret-rotations/*path')
  @Requires('editor')
  @ApiParam({ name: 'path', description: 'the secret path' })
  @ApiOperation({ summary: 'Set the rotation policy of a secret defined in this environment (the first rotation is one interval from now)' })
  set(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Body() dto: RotationPolicyDto, @Writer() w: WriteContext) {
    return this.rotations.setPolicy(w, p, env, join(path), dto);
  }

  @Delete('environments/:env/secret-rotations/*path')
  @HttpCode(204)
  @Requires('editor')
  @ApiParam({ name: 'path', description: 'the secret path' })
  @ApiOperation({ summary: 'Remove the rotation policy of a secret' })
  async remove(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Writer() w: WriteContext) {
    await this.rotations.removePolicy(w, p, env, join(path));
  }

  @Post('environments/:env/secret-rotations/*path')
  @HttpCode(202)
  @Requires('editor')
  @ApiParam({ name: 'path', description: 'the secret path' })
  @ApiOperation({ summary: 'Rotate now: the next rotation becomes due at once and the worker applies it in its next pass' })
  rotateNow(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Writer() w: WriteContext) {
    return this.rotations.rotateNow(w, p, env, join(path));
  }
}

function join(segments: string[] | string): string {
  return (Array.isArray(segments) ? segments : [segments]).join('/');
}
